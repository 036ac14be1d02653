// Stands in for runtime/cluster/supervisor.ts when the CLI tests run `mcs up`
// (through MCS_SUPERVISOR_MODULE): the fixture backend, plus a record of the
// options it was started with and of its stop, written to the state directory.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MulticomputerOptions, RunningMulticomputer } from '../../runtime/cli/up';
import { FixtureBackend } from '../control/fixture-backend';

export async function startMulticomputer(options: MulticomputerOptions): Promise<RunningMulticomputer> {
  writeFileSync(path.join(options.stateDir, 'fake-started.json'), JSON.stringify(options));
  return {
    backend: new FixtureBackend(),
    async stop() {
      writeFileSync(path.join(options.stateDir, 'fake-stopped'), 'yes');
    },
  };
}
