// The Web cache's structures as the console decodes them (Sections view): the
// master area's hash table and each node's cache area of file entries, declared
// from the same constants the cache itself uses (cache-layout.ts), so the view
// cannot drift from the layout.
import { MAX_NODES } from '../../gsm/layout';
import type { SectionLayoutDeclaration } from '../../sdk/section-layout';
import { ENTRY, ENTRY_MAGIC, MASTER, MAX_KEY_BYTES } from './cache-layout';
import { WEBCACHE_COMPONENT } from './global-cache';

export const webcacheSectionLayouts: SectionLayoutDeclaration[] = [
  {
    title: 'Web cache: hash table (master area)',
    sections: `${WEBCACHE_COMPONENT}.master.*`,
    parts: [
      { kind: 'struct', offset: MASTER.buckets, struct: { name: 'table', size: 4, fields: [{ name: 'buckets', offset: 0, type: 'u32' }] } },
      {
        kind: 'table',
        offset: MASTER.areas,
        stride: MASTER.areaBytes,
        count: MAX_NODES,
        skipWhenZero: 'bytes',
        struct: {
          name: 'member cache area',
          size: MASTER.areaBytes,
          fields: [
            { name: 'section slot', offset: 0, type: 'u32' },
            { name: 'section generation', offset: 4, type: 'u32' },
            { name: 'bytes', offset: 8, type: 'u64' },
          ],
        },
      },
      {
        kind: 'table',
        offset: MASTER.heads,
        stride: MASTER.headBytes,
        count: { field: 'buckets' },
        skipWhenZero: 'head',
        struct: {
          name: 'chain',
          size: MASTER.headBytes,
          fields: [
            { name: 'mutex slot', offset: 0, type: 'u32' },
            { name: 'mutex generation', offset: 4, type: 'u32' },
            { name: 'head', offset: 8, type: 'u64', format: 'gsm-offset' },
          ],
        },
      },
    ],
  },
  {
    title: 'Web cache: file entries (cache area)',
    sections: `${WEBCACHE_COMPONENT}.area.*`,
    parts: [
      {
        kind: 'blocks',
        offset: 0,
        align: 64,
        sizeField: 'capacity',
        struct: {
          name: 'file entry',
          size: ENTRY.key + MAX_KEY_BYTES,
          fields: [
            { name: 'next', offset: ENTRY.next, type: 'u64', format: 'gsm-offset' },
            { name: 'magic', offset: ENTRY.magic, type: 'u32', format: 'hex', expect: ENTRY_MAGIC },
            { name: 'keyLength', offset: ENTRY.keyLength, type: 'u32' },
            { name: 'dataLength', offset: ENTRY.dataLength, type: 'u32' },
            { name: 'capacity', offset: ENTRY.capacity, type: 'u32' },
            { name: 'file size', offset: ENTRY.size, type: 'f64' },
            { name: 'file mtime', offset: ENTRY.mtimeMs, type: 'f64', format: 'epoch-ms' },
            { name: 'inode', offset: ENTRY.ino, type: 'f64' },
            { name: 'last access', offset: ENTRY.lastAccess, type: 'u64', format: 'epoch-ms' },
            { name: 'bucket', offset: ENTRY.bucket, type: 'u32' },
            { name: 'owner node', offset: ENTRY.owner, type: 'u32' },
            { name: 'key', offset: ENTRY.key, type: 'ascii', length: MAX_KEY_BYTES, lengthFrom: 'keyLength' },
          ],
        },
      },
    ],
  },
];
