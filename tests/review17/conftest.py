"""review17 reuses the sync tests' fixtures: the live SES fake, a database, a clock."""

from tests.ses_sync.conftest import (  # noqa: F401  (fixtures, registered by import)
    aws_env,
    clock,
    database,
    delays,
    fake_client,
    fake_ses,
    make_sync,
)
