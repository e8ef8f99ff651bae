"""The console in a real browser: Playwright driving Debian's Chromium against a live server."""
