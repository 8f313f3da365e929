import { expect } from 'vitest';

// Vitest's asymmetric matchers are typed `any`; these keep the tests free of unsafe assignments.
export const anyString = (): unknown => expect.any(String);
export const anyNumber = (): unknown => expect.any(Number);
export const containing = (text: string): unknown => expect.stringContaining(text);
