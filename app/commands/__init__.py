"""The ``bouncer`` subcommands that work on the database through the service functions."""
