"""The +86 mobile check: codes and notices go by SMS only to mainland China mobiles.

The backends that deliver a text live in ``dsar.notifications.sms``; messages reach them
through the outbox (``dsar.notifications.services.queue_sms``).
"""

import phonenumbers
from django.utils.translation import gettext as _

from dsar.workflow import identity
from dsar.workflow.identity import InvalidIdentity


def normalise_cn_mobile(value: str) -> str:
    """A mainland China mobile number in E.164 (+861…); anything else raises InvalidIdentity.

    The number is read by ``dsar.workflow.identity.parse_phone``, the one phone normaliser,
    and then must be a +86 mobile: codes go by SMS only to those.
    """
    try:
        number = identity.parse_phone(value, region="CN")
    except identity.InvisibleCharacters:
        raise
    except InvalidIdentity as exc:
        raise InvalidIdentity(_("Enter a mainland China mobile number (+86).")) from exc
    mobile_types = {phonenumbers.PhoneNumberType.MOBILE}
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in mobile_types
    ):
        raise InvalidIdentity(_("Enter a mainland China mobile number (+86)."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
