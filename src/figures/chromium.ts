// Headless Chromium for figures (PNG rendering) and handouts (PDF printing): Debian's
// /usr/bin/chromium driven by playwright-core. Nothing is downloaded, and the pages load
// nothing from the network: every request is refused.
//
// A launch costs about a second of CPU, and loading plotly.js into a page two more, so a run
// that renders and prints many notebooks opens one OfflineBrowser and passes it to each call
// (`browser` in PngOptions and in printPdfs); a call without one launches its own.
import fs from "fs";
import os from "os";
import path from "path";
import { withCode } from "../codes";
import { tempFolder } from "../process/temp-folder";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The Chromium binary: `executablePath`, else $TSLAB_IPC_CHROMIUM, else /usr/bin/chromium. */
export function chromiumPath(executablePath?: string): string {
  return executablePath ?? process.env.TSLAB_IPC_CHROMIUM ?? "/usr/bin/chromium";
}

/** Why Chromium cannot be driven here (no binary, no playwright-core), or null. */
export function chromiumUnavailableReason(executablePath = chromiumPath()): string | null {
  if (!fs.existsSync(executablePath)) return `no Chromium at ${executablePath} (apt-get install chromium)`;
  try {
    require.resolve("playwright-core");
  } catch {
    return "the playwright-core package is not installed (npm install)";
  }
  return null;
}

/** The part of a playwright Page that rendering and printing use (playwright's own methods). */
export interface OfflinePage {
  /** Replaces the page's document with `html`. */
  setContent(html: string, o?: object): Promise<void>;
  /**
   * Answers the page's requests for `url` with `handler` (before the context's rule that refuses
   * them all): plotly.js is served to the renderer's page this way (src/figures/png.ts).
   */
  route(
    url: string,
    handler: (r: {
      fulfill(o: { path: string; contentType?: string }): Promise<void>;
      abort(): Promise<void>;
    }) => unknown,
  ): Promise<void>;
  /** Adds a style sheet (the print layout). */
  addStyleTag(o: { content: string }): Promise<unknown>;
  /** Runs `f(a)` in the page and returns its result. */
  evaluate<R, A>(f: (a: A) => R | Promise<R>, a?: A): Promise<R>;
  /** Sets the CSS media type (`{ media: "print" }`). */
  emulateMedia(o: object): Promise<void>;
  /** Sets the page's viewport, in CSS pixels. */
  setViewportSize(o: { width: number; height: number }): Promise<void>;
  /** Prints the page to PDF. */
  pdf(o: object): Promise<Buffer>;
  /** Closes the page. */
  close(): Promise<void>;
}

/** One Chromium and one offline context in it: every network request of its pages is refused. */
export interface OfflineBrowser {
  /** A new page in the offline context. */
  newPage(): Promise<OfflinePage>;
  /** Closes the browser and its pages. */
  close(): Promise<void>;
}

type PersistentContext = {
  pages(): OfflinePage[];
  newPage(): Promise<OfflinePage>;
  route(url: string, h: (r: { abort(): Promise<void> }) => unknown): Promise<void>;
  close(): Promise<void>;
};

/**
 * This process's children whose command line holds `arg`. Playwright starts Chromium as one,
 * the leader of a process group of its own; `--user-data-dir=<our profile>` names ours.
 */
function childrenWith(arg: string): number[] {
  const found: number[] = [];
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, "utf8");
    } catch {
      return ""; // gone, or no /proc
    }
  };
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${process.pid}/task`);
  } catch {
    return found;
  }
  for (const task of tasks)
    for (const pid of read(`/proc/${process.pid}/task/${task}/children`).split(" ").filter(Boolean))
      if (read(`/proc/${pid}/cmdline`).split("\0").includes(arg)) found.push(Number(pid));
  return found;
}

/** Where Chromium makes its singleton socket, under its TMPDIR (process_singleton_posix.cc). */
const SINGLETON_SOCKET_TAIL = "/org.chromium.Chromium.XXXXXX/SingletonSocket";
/** sun_path's size in a Unix socket address (Linux), its final NUL included. */
const SOCKET_PATH_BYTES = 108;

/**
 * Stops the Chromium whose profile is `profile` (its process group: the browser and its
 * renderers), and removes the folder it made for its singleton socket, which the profile's
 * SingletonSocket link names: Chromium removes that folder when it exits, not when it is
 * killed (it is outside our folder when Chromium keeps the temp directory as its TMPDIR).
 */
function killChromium(profile: string): void {
  for (const pid of childrenWith(`--user-data-dir=${profile}`)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  let socket: string;
  try {
    socket = fs.readlinkSync(path.join(profile, "SingletonSocket"));
  } catch {
    return; // no link: Chromium did not get that far, or removed it as it exited
  }
  const dir = path.dirname(socket);
  if (/^org\.chromium\.Chromium\.\w+$/.test(path.basename(dir))) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Launches Chromium with an offline context. Throws (code ERR_CHROMIUM_UNAVAILABLE) with the
 * reason when there is no Chromium or playwright-core, or when it does not start.
 *
 * What Chromium and playwright write (the profile, playwright's artifacts) is in one temporary
 * folder of ours, which goes with the browser's close or with this process, Chromium killed
 * first (killChromium), and, where the path is short enough, Chromium's own temporary files.
 * Chromium starts in any TMPDIR (it died in one of 63 characters or more).
 * Playwright installs no signal handlers: process/lifecycle owns them (a kernel keeps SIGINT to
 * interrupt a cell, and playwright's handler exited the process; a command-line run dies of
 * Ctrl-C at once, its browser and folders gone).
 */
export async function launchOfflineBrowser(executablePath?: string): Promise<OfflineBrowser> {
  const exe = chromiumPath(executablePath);
  const reason = chromiumUnavailableReason(exe);
  if (reason) throw withCode(new Error(reason), "ERR_CHROMIUM_UNAVAILABLE");
  // Required lazily: only rendering and printing need it, and a kernel without it still plots.
  const { chromium } = require("playwright-core") as {
    chromium: { launchPersistentContext(userDataDir: string, o: object): Promise<PersistentContext> };
  };
  const folder = tempFolder("tslab-ipc-chromium-", { before: () => killChromium(profile) });
  const profile = path.join(folder.path, "profile");
  // Chromium's TMPDIR is the folder too (the files it makes there, such as its shared memory's
  // `.org.chromium.Chromium.*`, go with it even when it is killed mid-way), where its singleton
  // socket's path fits in a socket address; else the temp directory, else /tmp. Chromium died
  // at start (a FATAL) in any TMPDIR of 63 characters or more, and left its socket's folder.
  const fits = (dir: string) => Buffer.byteLength(dir) + SINGLETON_SOCKET_TAIL.length < SOCKET_PATH_BYTES;
  const chromiumTmp = [folder.path, os.tmpdir(), "/tmp"].find(fits) ?? "/tmp";
  let context: PersistentContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: exe,
      args: CHROMIUM_ARGS,
      headless: true,
      offline: true,
      artifactsDir: path.join(folder.path, "artifacts"),
      env: { ...process.env, TMPDIR: chromiumTmp },
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (e) {
    folder.remove();
    throw withCode(
      new Error(`Chromium at ${exe} did not start (${(e as Error).message.split("\n")[0]})`),
      "ERR_CHROMIUM_UNAVAILABLE",
    );
  }
  const close = async () => {
    await context.close().catch(() => undefined);
    folder.remove();
  };
  try {
    await context.route("**/*", (route) => route.abort());
    // A persistent context opens with a blank page: the first newPage() is that one (making
    // another cost ~0.3 s).
    let first: OfflinePage | undefined = context.pages()[0];
    const newPage = () => {
      const page = first;
      first = undefined;
      return page ? Promise.resolve(page) : context.newPage();
    };
    return { newPage, close };
  } catch (e) {
    await close();
    throw e;
  }
}
