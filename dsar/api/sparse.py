"""A serializer that builds only the fields its input can fill.

DRF gives every serializer instance a deep copy of all its declared fields, about 10 µs a
field. A form with many optional fields (the public intake's agent and relative parts) pays
for all of them on every call, though a field that is optional, has no default and finds
nothing under its name in the input adds nothing to ``validated_data`` and no error: DRF
skips it. :class:`SparseInputSerializer` leaves such fields out, so the answer (data and
field messages, in declaration order) is what the full serializer gives. Without input (an
output serializer, the OpenAPI schema) every field is built.
"""

import copy
from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html


class SparseInputSerializer(serializers.Serializer):
    def get_fields(self):
        data = getattr(self, "initial_data", None)
        if not isinstance(data, Mapping):  # no input, or one refused as a whole
            return super().get_fields()
        form = html.is_html_input(data)
        # Form input can spread one field over several keys ("corrections[0]field"); other
        # input has each field under its name.
        keys = [key for key in data if isinstance(key, str)] if form else data
        return copy.deepcopy(
            {
                name: field
                for name, field in self._declared_fields.items()
                if not self._skipped(name, field, keys, form)
            }
        )

    @staticmethod
    def _skipped(name, field, keys, form) -> bool:
        """Whether DRF would skip ``field`` for this input: optional, no default (none for an
        absent form field either: a form leaves out an unticked box, read as False), and no
        key under its name."""
        if field.required or field.default is not empty or field.read_only:
            return False
        if not form:
            return name not in keys
        if field.default_empty_html is not empty:
            return False
        return not any(key.startswith(name) for key in keys)
