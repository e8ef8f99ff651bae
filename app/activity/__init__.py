"""What bouncer saw happen to its mail: the SES events it recorded and the sends it made."""
