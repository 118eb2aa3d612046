export function versionOfTag(tag: string): string | null
export function majorTag(tag: string): string | null
export function releaseNotes(changelog: string, version: string): string | null
export function releaseProblems(tag: string, changelog: string, packageVersion: string): string[]
export function majorTagToMove(tag: string, existingTags: readonly string[]): string | null
