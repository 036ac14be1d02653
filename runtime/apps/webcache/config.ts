// The Web cache's configuration, as `mcs up` passes it to every node (app config
// "webcache"). It crosses a process boundary as JSON, so it is validated here, in
// the node, with the same schema the CLI checks it with before starting anything.
import path from 'node:path';
import { z } from 'zod';

export const CACHE_MODES = ['global', 'local', 'shared-nothing', 'off'] as const;

export const WebcacheConfig = z
  .object({
    mode: z.enum(CACHE_MODES, { error: `expected a cache mode: ${CACHE_MODES.join(', ')}` }),
    /** The static directory every node serves (absolute: nodes do not share the CLI's cwd). */
    site: z.string().refine((s) => path.isAbsolute(s), 'expected an absolute site directory'),
    /** Cache memory per node in MiB: the same total in every mode (global: each node's contribution). */
    cacheMb: z.number().positive('expected a cache size > 0 MiB').max(4096, 'at most 4096 MiB of cache per node'),
    /** Node N listens on basePort + N; 0 lets the OS choose a free port per node. */
    basePort: z.number().int().min(0).max(65535 - 16).default(0),
    /** Global mode: how often each node's revalidation thread sweeps for entries whose file changed on disk; 0: no such thread. */
    revalidateMs: z
      .union([z.literal(0), z.number().int().min(10, 'revalidateMs is 0 (off) or at least 10').max(60_000, 'revalidateMs is at most 60000')])
      .default(1000),
  })
  .strict();
export type WebcacheConfig = z.infer<typeof WebcacheConfig>;
