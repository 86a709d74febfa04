/** `https://host:port` of a URL, for error messages (the URL itself when it does not parse). */
export function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** The path and query of a URL, for error messages (the URL itself when it does not parse). */
export function pathOf(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.pathname}${parsed.search}`
  } catch {
    return url
  }
}
