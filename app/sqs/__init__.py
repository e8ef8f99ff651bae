"""The SQS wire (SPEC §8): receive and delete, through boto3; no database."""
