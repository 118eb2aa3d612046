export const TABLES_PAGE: string
export function renderTables(actionYml: string): string
export function updateTables(page: string, actionYml: string): string
