"""What the subject tells us besides their identity: replies to staff questions."""

import uuid

from django.db import models

from dsar.crypto.fields import EncryptedTextField


class SubjectReply(models.Model):
    """A message from the subject answering a request for more information."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="subject_replies"
    )
    body = EncryptedTextField(blank=True)
    # A file sent with the reply (a photo staff asked for), checked and encrypted like
    # identity evidence (``dsar.verification.evidence.checked_upload``).
    attachment = models.BinaryField(blank=True, default=b"")
    attachment_type = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"reply to {self.request_id}"
