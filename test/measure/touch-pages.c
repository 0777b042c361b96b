/* The C twin of the fault-counting test: touch one byte in each of N pages of a fresh
 * anonymous mapping (anon) or System V segment (sysv) and print the minor and major faults
 * getrusage(RUSAGE_SELF) counted around the loop, as "minor major". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s anon|sysv pages\n", argv[0]); return 2; }
    long pages = atol(argv[2]);
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)pages * page;
    volatile char *mem;
    if (strcmp(argv[1], "anon") == 0) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { perror("mmap"); return 1; }
        mem = p;
    } else {
        int id = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600);
        if (id < 0) { perror("shmget"); return 1; }
        void *p = shmat(id, NULL, 0);
        shmctl(id, IPC_RMID, NULL); /* gone at exit whatever happens */
        if (p == (void *)-1) { perror("shmat"); return 1; }
        mem = p;
    }
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    for (long i = 0; i < pages; i++) mem[i * page] = 1;
    getrusage(RUSAGE_SELF, &b);
    printf("%ld %ld\n", b.ru_minflt - a.ru_minflt, b.ru_majflt - a.ru_majflt);
    return 0;
}
