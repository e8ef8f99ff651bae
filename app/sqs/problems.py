"""A failed SQS call in words an operator can act on, and whether waiting may cure it.

Only the error's code goes into the words, never AWS's message: an authentication
failure's message can quote the credential scope, and log lines never carry credentials.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as ConnectFailed

# SQS's error codes: the query protocol's and the JSON protocol's spelling of each.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html#API_ReceiveMessage_Errors
_NO_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSecurity",
        "RequestExpired",
    }
)
_BUSY = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "OverLimit",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "KmsThrottled",
        "KMS.ThrottlingException",
    }
)
_CREDENTIALS = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)
_UNREACHABLE = (EndpointConnectionError, ConnectFailed, ConnectionClosedError, ReadTimeoutError)


class SqsProblem(Exception):
    """A receive or delete that failed. ``transient``: throttling, SQS busy, no connection;
    otherwise it needs an operator (a wrong URL, credentials, permissions), yet the
    consumer keeps trying, slowly, so that it recovers once they are fixed."""

    def __init__(self, message: str, *, code: str, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.transient = transient


def describe(err: Exception, *, queue_url: str, action: str, endpoint: str) -> SqsProblem:
    """``err`` raised by ``action`` (ReceiveMessage, DeleteMessageBatch) on ``queue_url``."""
    where = f"{action} on {queue_url}"
    if isinstance(err, ClientError):
        code = str(err.response.get("Error", {}).get("Code") or "Unknown")
        if code in _NO_QUEUE:
            return SqsProblem(
                f"{where}: the queue does not exist at {endpoint} ({code}): check the URL in "
                "SQS_QUEUE_URLS or --queue-url, its region (AWS_REGION when the URL names "
                "none) and SQS_ENDPOINT_URL",
                code=code,
                transient=False,
            )
        if code in _DENIED or code.startswith("KMS."):
            return SqsProblem(
                f"{where}: access denied ({code}): check the AWS credentials, and that the "
                "queue's access policy and the credentials' IAM policy allow "
                "sqs:ReceiveMessage and sqs:DeleteMessage (and kms:Decrypt for an encrypted "
                "queue)",
                code=code,
                transient=False,
            )
        transient = code in _BUSY
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int) and status >= 500:
            transient = True
        return SqsProblem(f"{where}: SQS answered {code}", code=code, transient=transient)
    code = type(err).__name__
    if isinstance(err, _CREDENTIALS):
        return SqsProblem(
            f"{where}: no usable AWS credentials ({code}): configure the standard AWS "
            "credential chain (environment variables, a profile or an instance role)",
            code=code,
            transient=False,
        )
    if isinstance(err, _UNREACHABLE):
        return SqsProblem(
            f"{where}: cannot reach SQS at {endpoint} ({code}): check SQS_ENDPOINT_URL, the "
            "region and the network path to SQS",
            code=code,
            transient=True,
        )
    if isinstance(err, BotoCoreError):
        return SqsProblem(f"{where}: the call failed ({code})", code=code, transient=True)
    return SqsProblem(f"{where}: the call failed ({code}: {err})", code=code, transient=True)
