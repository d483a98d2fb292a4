"""The data categories a personal column can hold, modelled on GB/T 35273-2020 Appendix A.

One key per category, stable in stored maps; the labels are shown in both languages.
"""

from django.utils.translation import gettext_lazy as _

CATEGORIES: dict[str, object] = {
    "basic_profile": _("Basic profile (name, birthday, gender, nationality)"),
    "identity_document": _("Identity document (resident ID, passport, driving licence)"),
    "contact": _("Contact details (phone, email, postal address)"),
    "online_identity": _("Online identity (account, nickname, open ID, IP address)"),
    "location": _("Location (coordinates, trips, addresses visited)"),
    "device": _("Device (IMEI, IDFA, device ID, MAC address)"),
    "transaction": _("Transactions (orders, payments, invoices)"),
    "financial": _("Financial (bank card, account balance, credit)"),
    "communication": _("Communication (messages, call records, emails)"),
    "online_activity": _("Online activity (browsing, searches, app use)"),
    "biometric": _("Biometric (face, fingerprint, voiceprint)"),
    "health": _("Health (medical records, physical data)"),
    "education_work": _("Education and work (school, employer, job title)"),
    "vehicle": _("Vehicle (licence plate, vehicle identification number)"),
    "other": _("Other personal information"),
}


def category_choices() -> list[tuple[str, object]]:
    return list(CATEGORIES.items())
