"""The HTTP front door: thin routers over the domain packages."""
