/**
 * Runs a bench client process's `main` (started by the runner with an IPC channel): the process ends
 * with its parent, and a failure reaches the parent as `{ error }` before the process exits.
 */
export function runChild(main: () => Promise<void>): void {
  process.on('disconnect', () => process.exit(0));
  main().catch((error: unknown) => {
    process.send?.({ error: error instanceof Error ? error.message : String(error) });
    console.error(error);
    process.exit(1);
  });
}
