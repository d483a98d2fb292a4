"""The company's own portal: one row (``pk=1``) set by the admin in both languages."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from dsar.branding.validators import validate_logo

SINGLETON_PK = 1


class Branding(models.Model):
    """Name, logo, privacy-policy link, contact channels and complaint addresses the portal
    pages, every email and the access package show. One row only (``SINGLETON_PK``)."""

    name_zh = models.CharField(_("company name (Chinese)"), max_length=120)
    name_en = models.CharField(_("company name (English)"), max_length=120)
    logo = models.FileField(
        _("logo"),
        upload_to="branding/",
        blank=True,
        validators=[validate_logo],
        help_text=_("A PNG, JPEG or WebP image of at most 200 KB."),
    )
    privacy_url_zh = models.URLField(_("privacy policy link (Chinese)"), blank=True)
    privacy_url_en = models.URLField(_("privacy policy link (English)"), blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    contact_address_zh = models.TextField(_("postal address (Chinese)"), blank=True)
    contact_address_en = models.TextField(_("postal address (English)"), blank=True)
    complaint_contact_zh = models.TextField(
        _("where to complain about a decision (Chinese)"),
        blank=True,
        help_text=_("An email or postal address; empty: the contact email."),
    )
    complaint_contact_en = models.TextField(
        _("where to complain about a decision (English)"), blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("company branding")
        verbose_name_plural = _("company branding")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pk=SINGLETON_PK), name="branding_is_a_singleton"
            )
        ]

    def __str__(self) -> str:
        return self.name_en or self.name_zh

    def save(self, *args, **kwargs):
        self.pk = SINGLETON_PK
        super().save(*args, **kwargs)
