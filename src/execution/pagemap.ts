/**
 * PageMap: a canister memory (the Wasm heap or the stable memory) as a persistent map of
 * 4 KiB pages, the unit the replica's own page maps use ([EXE-MEM-PAGES.1]).
 *
 * A version is a `PMap` from page index to 4 KiB bytes plus the size in 64 KiB Wasm pages.
 * Absent pages read as zeros. A step that writes k pages makes a new version in O(k): the
 * pages it did not touch are shared with the version before, which stays readable
 * (`PMap` re-roots when an older version is read). Page buffers are never written after
 * they are put in a map.
 */
import { PMap } from '../core/pmap.js';

export const OS_PAGE = 4096;
export const WASM_PAGE = 65536;
export const OS_PAGES_PER_WASM_PAGE = WASM_PAGE / OS_PAGE;

const ZERO_PAGE = new Uint8Array(OS_PAGE);

/**
 * The buffer for n pages copied out of a Wasm memory. One allocation per message, whatever the
 * number of pages (measured: carving pages from larger shared slabs was slower, as fresh memory
 * costs a page fault per 4 KiB page and V8 accounts external memory per buffer).
 */
export const allocPages = (n: number): Uint8Array => new Uint8Array(n * OS_PAGE);

export class PageMap {
  private constructor(
    private readonly pages: PMap<number, Uint8Array>,
    /** size in 64 KiB Wasm pages */
    readonly wasmPages: number,
  ) {}

  static empty(wasmPages = 0): PageMap {
    return new PageMap(PMap.empty(), wasmPages);
  }

  get byteLength(): number {
    return this.wasmPages * WASM_PAGE;
  }

  /** The page's bytes (a shared read-only buffer; zeros when never written). */
  page(index: number): Uint8Array {
    return this.pages.get(index) ?? ZERO_PAGE;
  }

  /** Whether the page was ever written (touched pages are what the memory costs). */
  touched(index: number): boolean {
    return this.pages.has(index);
  }

  get touchedCount(): number {
    return this.pages.size;
  }

  /** Indices of the touched pages, ascending. */
  touchedIndices(): number[] {
    return this.pages
      .entries()
      .map(([k]) => k)
      .sort((a, b) => a - b);
  }

  /** A new version with the memory grown to `wasmPages` (new pages read as zeros). */
  resize(wasmPages: number): PageMap {
    if (wasmPages === this.wasmPages) return this;
    let pages = this.pages;
    if (wasmPages < this.wasmPages)
      for (const i of pages.entries().map(([k]) => k)) if (i >= wasmPages * OS_PAGES_PER_WASM_PAGE) pages = pages.delete(i);
    return new PageMap(pages, wasmPages);
  }

  /** A new version where the given pages hold the given bytes (each a fresh 4 KiB buffer). */
  withPages(updates: Iterable<readonly [number, Uint8Array]>, wasmPages = this.wasmPages): PageMap {
    let pages = this.pages;
    for (const [i, bytes] of updates) pages = pages.set(i, bytes);
    return new PageMap(pages, wasmPages);
  }

  /** Read `len` bytes at `offset` (the caller has checked the bounds). */
  read(offset: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const pos = offset + done;
      const p = Math.floor(pos / OS_PAGE);
      const within = pos - p * OS_PAGE;
      const n = Math.min(OS_PAGE - within, len - done);
      const page = this.pages.get(p);
      if (page !== undefined) out.set(page.subarray(within, within + n), done);
      done += n;
    }
    return out;
  }

  /** A new version with `bytes` written at `offset` (the caller has checked the bounds). */
  write(offset: number, bytes: Uint8Array): PageMap {
    let pages = this.pages;
    let done = 0;
    while (done < bytes.length) {
      const pos = offset + done;
      const p = Math.floor(pos / OS_PAGE);
      const within = pos - p * OS_PAGE;
      const n = Math.min(OS_PAGE - within, bytes.length - done);
      const page = new Uint8Array(OS_PAGE);
      const old = pages.get(p);
      if (old !== undefined) page.set(old);
      page.set(bytes.subarray(done, done + n), within);
      pages = pages.set(p, page);
      done += n;
    }
    return new PageMap(pages, this.wasmPages);
  }

  /** The whole content (tests and small memories only: costs the full size). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    for (const [i, page] of this.pages.entries()) out.set(page, i * OS_PAGE);
    return out;
  }
}
