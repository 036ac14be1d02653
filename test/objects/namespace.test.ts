import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { N, ObjectType, nodeRecord } from '../../runtime/gsm/layout';
import { ContributionHeap } from '../../runtime/objects/allocator';
import { ObjectError } from '../../runtime/objects/errors';
import { createTestGsm, startActor } from '../helpers/gsm';

const code = (c: string) => (e: unknown) => e instanceof ObjectError && e.code === c;

describe('global object namespace', () => {
  const t = createTestGsm('ns');
  const dir = mkdtempSync(path.join(tmpdir(), 'mcs-ns-'));
  after(() => {
    t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const node1 = t.objects(1);
  const node2 = t.objects(2);

  it('creates a section from the caller\'s contribution and opens it by name and by id from another node', async () => {
    const s = await node1.createSection('orders', 1000);
    assert.match(s.id, /^\d+\.\d+$/);
    assert.equal(s.record.ownerNode, 1);
    const housedBy = Math.floor((s.gsmOffset - t.gsm.layout.contributionsOffset) / t.gsm.layout.contributionBytes);
    assert.equal(housedBy, 1, 'the data lies in node 1\'s contribution');
    s.write(0, new TextEncoder().encode('hello'));
    const byName = await node2.openSection('orders');
    const byId = await node2.openSection(s.id);
    assert.equal(new TextDecoder().decode(byName.readBytes(0, 5)), 'hello');
    assert.equal(byId.size, 1000);
    const listed = node2.list(ObjectType.Section).find((r) => r.name === 'orders')!;
    assert.equal(listed.refs[1], 1);
    assert.equal(listed.refs[2], 2, 'node 2 holds two references');
    await byName.close();
    await byId.close();
    await s.close();
  });

  it('bounds section access and maps byte ranges with atomics', async () => {
    const s = await node1.createSection('ranges', 64);
    assert.throws(() => s.write(60, new Uint8Array(8)), RangeError);
    assert.throws(() => s.readBytes(-1, 1), RangeError);
    const view = s.map(16, 16);
    view.store32(0, 7);
    assert.equal(view.add32(0, 1), 7);
    assert.equal(s.readBytes(16, 1)[0], 8);
    assert.throws(() => view.load32(16), RangeError);
    assert.throws(() => s.map(60, 8), RangeError);
    await s.close();
    assert.throws(() => view.load32(0), code('closed'));
  });

  it('refuses a duplicate name, malformed ids and bad names with clear errors', async () => {
    const m = await node1.createMutex('dup');
    await assert.rejects(node2.createSection('dup', 10), code('exists'));
    await assert.rejects(node2.openSection('12'), (e) => code('invalid-id')(e) && /malformed object id "12"/.test((e as Error).message));
    await assert.rejects(node2.openSection('1.x'), code('invalid-id'));
    await assert.rejects(node2.openSection('no-such-thing'), code('not-found'));
    await assert.rejects(node2.openSection('999999.1'), code('invalid-id'));
    await assert.rejects(node2.openSection('dup'), code('wrong-type'));
    await assert.rejects(node2.createSection('9lives', 10), code('bad-argument'));
    await assert.rejects(node2.createSection('x'.repeat(48), 10), code('bad-argument'));
    await assert.rejects(node2.createSection('big', 10 ** 9), code('bad-argument'));
    await m.close();
  });

  it('reports a stale id as invalid once its object is deleted, even after the slot is reused', async () => {
    const s = await node1.createSection('short-lived', 32);
    const oldId = s.id;
    const other = await node2.openSection(oldId);
    await s.delete();
    await assert.rejects(node2.openSection('short-lived'), code('not-found'));
    assert.equal(other.readBytes(0, 1).length, 1, 'an open reference keeps the object alive');
    await other.close();
    await assert.rejects(node2.openSection(oldId), code('invalid-id'));
    const reuse = await node1.createSection('reuser', 32);
    assert.notEqual(reuse.id, oldId);
    await assert.rejects(node2.openSection(oldId), code('invalid-id'));
    assert.throws(() => other.readBytes(0, 1), code('closed'));
    await reuse.close();
  });

  it('stops a handle at the stale-generation guard when its object is reclaimed under it', async () => {
    const s = await node1.createSection('reclaimed', 32);
    const other = await node2.openSection(s.id);
    await node1.ns.reclaimNode(2);
    await s.delete();
    assert.throws(() => other.readBytes(0, 4), code('invalid-id'));
  });

  it('says so when a contribution is full, and frees space on delete', async () => {
    const used = () => t.gsm.map.load64n(nodeRecord(t.gsm.layout, 3) + N.usedBytes);
    const node3 = t.objects(3);
    const big = await node3.createSection('big-a', 600 * 1024);
    await assert.rejects(node3.createSection('big-b', 600 * 1024), (e) => code('no-space')(e) && /contribution/.test((e as Error).message));
    assert.ok(used() >= 600 * 1024);
    await big.delete();
    assert.equal(used(), 0);
    const again = await node3.createSection('big-b', 600 * 1024);
    await again.delete();
  });

  it("allocates from its copy of the block chain only while no other thread of the node changed the chain", async () => {
    // Two mappings with node 5's identity: two threads of one node, each with its own copy.
    const a = t.objects(5);
    const b = t.objects(5);
    const first = await a.createSection('chain-a1', 1000);
    const other = await b.createSection('chain-b1', 1000);
    const second = await a.createSection('chain-a2', 1000);
    const spans = [first, other, second].map((s) => s.record);
    const sorted = [...spans].sort((x, y) => x.dataOffset - y.dataOffset);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i - 1].dataOffset + sorted[i - 1].dataBytes <= sorted[i].dataOffset, 'no two objects share bytes');
    // A block freed by the other thread is seen free again.
    await other.delete();
    const reused = await a.createSection('chain-a3', 1000);
    assert.equal(reused.record.dataOffset, spans[1].dataOffset, 'first fit takes the block the other thread freed');
    const { blocks, brokenAt } = new ContributionHeap(t.gsm, 5).walk();
    assert.equal(brokenAt, null);
    assert.equal(blocks.length, 4, 'three objects and the free rest');
  });

  it('repairs the namespace after a process dies inside it mid-create (SIGKILL)', async () => {
    const markFile = path.join(dir, 'in-create');
    const actor = await startActor(t.name, 4);
    void actor.send('crashMidCreate', { name: 'half-made', size: 4096, markFile });
    while (!existsSync(markFile)) await new Promise((r) => setTimeout(r, 10));
    await actor.kill('SIGKILL');
    const usedBefore = t.gsm.map.load64n(nodeRecord(t.gsm.layout, 4) + N.usedBytes);
    assert.ok(usedBefore >= 4096, 'the dead process had allocated its block');
    const repairs: string[] = [];
    node1.ns.onRepair = (what) => repairs.push(what);
    const s = await node1.createSection('after-crash', 16);
    assert.equal(repairs.length, 1, 'the next locker saw ABANDONED and repaired');
    assert.match(repairs[0], /1 half-created/);
    await assert.rejects(node1.openSection('half-made'), code('not-found'));
    assert.equal(t.gsm.map.load64n(nodeRecord(t.gsm.layout, 4) + N.usedBytes), 0, 'its block was freed');
    assert.ok(!node1.list().some((r) => r.name === 'half-made'));
    await s.close();
  });
});
