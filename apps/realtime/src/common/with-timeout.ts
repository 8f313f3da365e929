/**
 * `work`'s value, or `onTimeout` when it has not settled within `ms`; the timer never outlives the
 * race. `work` must not reject: callers turn failures into values first.
 */
export async function withTimeout<T, F>(work: Promise<T>, ms: number, onTimeout: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
