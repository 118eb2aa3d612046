export function renderTables(actionYml: string): string
export function updateReadme(readme: string, actionYml: string): string
