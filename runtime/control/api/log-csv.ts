// The event log's CSV format, offered to browser code (the console's export)
// through the API folder: one format for the store, the CLI and the console.
export { LOG_CSV_HEADER, csvLogLine, isoTime } from '../../log/csv';
