"""The web console at /console (SPEC §9): server-rendered pages over the same services as
the API, for the people who look after the list."""
