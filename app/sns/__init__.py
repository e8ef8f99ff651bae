"""Amazon SNS over HTTP(S): parse the envelope, check the topic, verify the signature, confirm."""
