// decodeSection: a section read through the layout its application registered.
// The running applications' layouts (their modules' `sectionLayouts` export) are
// registered on first use and whenever a node runs an application not seen yet;
// one that is rejected is reported with every answer rather than failing them.
import { failedParts } from '../gsm/gsm';
import { O, objectRecord, ObjectType } from '../gsm/layout';
import type { Multicomputer } from '../cluster/types';
import { loadKitApp, type KitApp } from '../nodes/kit-apps';
import { decodeSection, SectionLayoutRegistry, type SectionMemory } from '../sdk/section-layout';
import type { DecodedSection, Params } from './api';

/** Kit applications are named; an application given as a file path is not loaded here. */
const KIT_APP_NAME = /^[a-z][a-z0-9-]*$/;

export function createSectionDecoder(mc: Multicomputer, load: (app: string) => Promise<KitApp> = loadKitApp) {
  const registry = new SectionLayoutRegistry();
  const seen = new Set<string>();
  const problems: string[] = [];

  async function registerRunningApps(): Promise<void> {
    const apps = new Set(mc.nodes().flatMap((n) => n.apps));
    for (const app of apps) {
      if (seen.has(app) || !KIT_APP_NAME.test(app)) continue;
      seen.add(app);
      let mod: KitApp;
      try {
        mod = await load(app);
      } catch (e) {
        problems.push(`${app}: not loaded for its section layouts: ${(e as Error).message}`);
        continue;
      }
      if (mod.sectionLayouts === undefined) continue;
      try {
        registry.register(app, mod.sectionLayouts);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  }

  return async function decode(p: Params<'decodeSection'>): Promise<DecodedSection> {
    await registerRunningApps();
    const r = mc.namespace.resolve(p.target, ObjectType.Section);
    const found = registry.forSection(r.name);
    if (!found) return { id: r.id, layout: null, records: [], next: null, problems: [...problems] };
    const gsm = mc.gsm;
    // Guarded by the record's generation, as readSection is: a section freed meanwhile reads as failed, not as another's bytes.
    const generationWord = objectRecord(gsm.layout, r.slot) + O.generation;
    const regions = gsm.failedRegions();
    const mem: SectionMemory = {
      size: r.dataBytes,
      read(offset, length) {
        const bytes = new Uint8Array(Math.max(0, Math.min(length, r.dataBytes - offset)));
        if (bytes.length > 0) gsm.map.read(r.dataOffset + offset, bytes, generationWord, r.generation);
        return bytes;
      },
      failedIn: (offset, length) => failedParts(regions, r.dataOffset + offset, length).reduce((n, f) => n + f.length, 0),
    };
    const { records, next } = decodeSection(found.layout, mem, p.from ?? 0, p.limit ?? 200);
    return { id: r.id, layout: { title: found.layout.title, app: found.app }, records, next, problems: [...problems] };
  };
}
