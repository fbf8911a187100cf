/**
 * The host's side of the dirty-page tracker ([EXE-WASM-DIRTY.1]); the layout is defined in
 * `instrument.ts`. These helpers touch a live `WebAssembly.Memory` (they are host plumbing, not
 * spec rules).
 */
import { dirtyLayout as L } from './instrument.js';

/** Grows the tracker memory so that its bytemap covers a main memory of `mainBytes` bytes
 * (call it after every growth of the main memory, e.g. in `try_grow_wasm_memory`). */
export const ensureDirtyCovers = (dirty: WebAssembly.Memory, mainBytes: number): void => {
  const need = L.bytesFor(Math.ceil(mainBytes / L.pageBytes));
  const have = dirty.buffer.byteLength;
  if (need > have) dirty.grow(Math.ceil((need - have) / 65536));
};

/**
 * The pages marked since the last call (each once, in marking order, or in index order when
 * the list overflowed), and the tracker cleared.
 */
export const takeDirtyPages = (dirty: WebAssembly.Memory): number[] => {
  const dv = new DataView(dirty.buffer);
  const bytes = new Uint8Array(dirty.buffer);
  const count = dv.getUint32(L.countOffset, true);
  if (count === 0) return [];
  let pages: number[];
  if (count <= L.listCapacity) {
    pages = new Array<number>(count);
    for (let i = 0; i < count; i++) pages[i] = dv.getUint32(L.listOffset + 4 * i, true);
  } else {
    // the list overflowed: scan the bytemap
    pages = [];
    const n = L.bytemapPages(bytes.length);
    for (let p = 0; p < n; p++) if (bytes[L.bytemapOffset + p] !== 0) pages.push(p);
  }
  for (const p of pages) bytes[L.bytemapOffset + p] = 0;
  dv.setUint32(L.countOffset, 0, true);
  return pages;
};

/** Marks a range written by the host itself (e.g. `ic0.*_copy` into the heap). */
export const markDirtyRange = (dirty: WebAssembly.Memory, start: number, len: number): void => {
  if (len <= 0) return;
  const dv = new DataView(dirty.buffer);
  const bytes = new Uint8Array(dirty.buffer);
  const covered = L.bytemapPages(bytes.length);
  const last = Math.floor((start + len - 1) / L.pageBytes);
  for (let p = Math.floor(start / L.pageBytes); p <= last && p < covered; p++) {
    if (bytes[L.bytemapOffset + p] !== 0) continue;
    bytes[L.bytemapOffset + p] = 1;
    const c = dv.getUint32(L.countOffset, true);
    if (c < L.listCapacity) dv.setUint32(L.listOffset + 4 * c, p, true);
    dv.setUint32(L.countOffset, c + 1, true);
  }
};
