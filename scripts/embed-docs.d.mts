export const EMBEDDING: string[]
export function embed(doc: string, read?: (path: string) => string): string
