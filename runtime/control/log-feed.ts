// A live tail of the event log for any transport (the WebSocket server, Electron
// IPC): the backend's pushed rows are validated as the API promises and filtered
// again, so a backend that pushes too much or malformed rows is caught here, once.
import { z } from 'zod';
import { ControlError, LogRow, describeIssues, type ControlBackend, type LogFilter, type Unsubscribe } from './api';
import { matchesLogFilter } from './api/log-filter';

export function subscribeLogFeed(
  backend: ControlBackend,
  filter: LogFilter,
  push: (rows: LogRow[]) => void,
  pushError: (e: ControlError) => void,
): Unsubscribe {
  return backend.subscribeLog(filter, (rows) => {
    const r = z.array(LogRow).safeParse(rows);
    if (!r.success) return pushError(new ControlError('internal', `the backend pushed invalid log rows: ${describeIssues(r.error, 'rows')}`));
    const matching = r.data.filter((row) => matchesLogFilter(row, filter));
    if (matching.length > 0) push(matching);
  });
}
