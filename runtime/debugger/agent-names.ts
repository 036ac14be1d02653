/** The agent's own thread: never listed, paused or stepped (pausing it would wedge the debugger). */
export const AGENT_THREAD_NAME = 'mcs-debug-agent';
