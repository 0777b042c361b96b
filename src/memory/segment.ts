// A System V segment as an everyday object: create or open by key, attach (read-write or
// read-only), stat, remove. Built on the C-shaped calls in sys/sysv.
import { ERR_INVALID_ARG_TYPE, ERR_MISSING_OPTION } from "../codes";
import { validateInteger, validateOptions } from "../validators";
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_RMID, IPC_STAT, SHM_RDONLY } from "../sys/constants";
import { type Attachment, ftok, getSegment, shmat, shmctl, shmget, type ShmidDs } from "../sys/sysv";

/**
 * How `SharedSegment.create` makes a segment: its size, its key (`IPC_PRIVATE` unless a key or a path and
 * project id are given), mode (0600 by default), whether it must be new, and whether it outlives this
 * process.
 */
export interface SegmentCreateOptions {
  /** The key (from ftok); default IPC_PRIVATE. Or give `path` (+ `projId`) and the key is ftok'd. */
  key?: number;
  path?: string;
  projId?: number | string;
  /** Size in bytes. */
  size: number;
  /** Permission bits; default 0o600 (the slides' 0o644 must be asked for). */
  mode?: number;
  /**
   * Fail with EEXIST if a segment with this key exists (default true: never adopt someone
   * else's). With false an existing segment is opened, and then `created` is false: dispose
   * never removes a segment this object did not create.
   */
  exclusive?: boolean;
  /** Keep the segment after this process exits (default: removed at exit). */
  persist?: boolean;
}

/** How `SharedSegment.open` finds an existing segment. */
export interface SegmentOpenOptions {
  /** Open read-only attachments by default. */
  readonly?: boolean;
}

function resolveKey(opts: { key?: number; path?: string; projId?: number | string }): number {
  if (opts.path !== undefined) return ftok(opts.path, opts.projId ?? "R");
  return opts.key ?? IPC_PRIVATE;
}

/**
 * A System V shared memory segment with a lifetime: `create`, `open` or `fromId`, then `attach()`,
 * `stat()`, `remove()`. Disposing it detaches what it attached and removes the segment if this object
 * created it; a segment it only opened is left for its creator.
 *
 * @example
 * {@includeCode ../../docs/examples/SharedSegment.ts}
 */
export class SharedSegment {
  readonly id: number;
  readonly key: number;
  /** Whether this object created the segment (and so removes it on dispose). */
  readonly created: boolean;
  #attachments = new Set<Attachment>();
  #removed = false;

  private constructor(id: number, key: number, created: boolean) {
    this.id = id;
    this.key = key;
    this.created = created;
  }

  /** shmget(key, size, mode | IPC_CREAT [| IPC_EXCL]). */
  static create(options: SegmentCreateOptions): SharedSegment {
    const opts = validateOptions<SegmentCreateOptions>(options, "options");
    if (opts.size === undefined) throw new ERR_MISSING_OPTION("options.size");
    validateInteger(opts.size, "options.size", 1);
    const mode = opts.mode === undefined ? 0o600 : validateInteger(opts.mode, "options.mode", 0, 0o777);
    const key = resolveKey(opts);
    const flags = IPC_CREAT | (opts.exclusive === false ? 0 : IPC_EXCL) | mode;
    const { id, created } = getSegment(key, opts.size, flags, { persist: opts.persist });
    return new SharedSegment(id, key, created);
  }

  /** shmget(key, 0, 0): the existing segment for a key (or a path + projId, ftok'd). */
  static open(keyOrPath: number | string, projId: number | string = "R"): SharedSegment {
    let key: number;
    if (typeof keyOrPath === "string") key = ftok(keyOrPath, projId);
    else if (typeof keyOrPath === "number") key = keyOrPath;
    else throw new ERR_INVALID_ARG_TYPE("key", ["number", "string"], keyOrPath);
    const id = shmget(key, 0, 0);
    return new SharedSegment(id, key, false);
  }

  /** A segment known by its id (e.g. passed to a child process). */
  static fromId(shmid: number): SharedSegment {
    const ds = shmctl(shmid, IPC_STAT);
    return new SharedSegment(shmid, ds.key, false);
  }

  /** shmat: a new attachment; `.buffer` on it is the memory. */
  attach(options?: SegmentOpenOptions): Attachment {
    const opts = validateOptions<SegmentOpenOptions>(options, "options");
    const a = shmat(this.id, null, opts.readonly ? SHM_RDONLY : 0);
    this.#attachments.add(a);
    return a;
  }

  /** shmctl(IPC_STAT). */
  stat(): ShmidDs {
    return shmctl(this.id, IPC_STAT);
  }

  /** Size in bytes (`shm_segsz`). */
  get size(): number {
    return this.stat().size;
  }

  /** True once `remove()` marked the segment for removal. */
  get removed(): boolean {
    return this.#removed;
  }

  /** shmctl(IPC_RMID): gone at the last detach. Removing twice is a no-op. */
  remove(): void {
    if (this.#removed) return;
    shmctl(this.id, IPC_RMID);
    this.#removed = true;
  }

  /** Detach what this object attached, and remove the segment if this object created it. */
  [Symbol.dispose](): void {
    for (const a of this.#attachments) a.detach();
    this.#attachments.clear();
    if (this.created && !this.#removed) {
      try {
        this.remove();
      } catch {
        // Already removed by someone else: nothing left to do.
        this.#removed = true;
      }
    }
  }

  /** One line for logs and the kernel's text output: id, key, size and state. */
  toString(): string {
    return `SharedSegment { id: ${this.id}, key: 0x${(this.key >>> 0).toString(16).padStart(8, "0")}${this.#removed ? ", removed" : ""} }`;
  }
}
