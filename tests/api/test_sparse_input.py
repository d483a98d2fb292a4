"""The intake serializer builds only the fields its input can fill, and answers exactly as
one with every field built."""

import io

import pytest
from django.http import QueryDict
from rest_framework import serializers

from dsar.api.public import CreateSerializer
from dsar.api.sparse import SparseInputSerializer


class Everything(CreateSerializer):
    def get_fields(self):
        return serializers.Serializer.get_fields(self)


class Ticked(SparseInputSerializer):
    name = serializers.CharField(required=False)
    agreed = serializers.BooleanField(required=False)  # absent from a form: False
    level = serializers.IntegerField(required=False, default=3)
    items = serializers.ListField(child=serializers.CharField(), required=False)


INPUTS = [
    {"type": "deletion", "email": "a@example.com", "full_name": "张三"},
    {"type": "nonsense", "email": "not an address", "agent_name": "x" * 201},
    {"type": "access", "email": "a@example.com", "filed_as": "agent", "agent_name": "A. Agent"},
    {"type": "correction", "email": "a@example.com", "corrections": [{"field": "name"}]},
    {"type": "consent_withdrawal", "phone": "13800138000", "purposes": ["marketing", "x"]},
    {"type": "access", "email": "a@example.com", "relationship": "spouse",
     "deceased_email": "bad", "lawful_interest": "", "death_certificate": "not a file"},
    {},
    {"email": None, "description": 5, "language": "fr"},
]  # fmt: skip


@pytest.mark.parametrize("data", INPUTS)
def test_json_input_gets_the_answer_of_the_full_serializer(data):
    sparse, full = CreateSerializer(data=data), Everything(data=data)
    assert sparse.is_valid() == full.is_valid()
    assert sparse.errors == full.errors
    assert list(sparse.errors) == list(full.errors)  # the messages in the same order
    assert sparse.validated_data == full.validated_data


def test_only_the_fields_given_are_built():
    fields = CreateSerializer(data={"type": "access", "email": "a@example.com"}).fields
    assert set(fields) == {"type", "email"}
    assert "agent_name" in CreateSerializer().fields  # no input: the schema sees them all


def test_form_input_keeps_fields_spread_over_keys_and_unticked_boxes():
    form = QueryDict(mutable=True)
    form.update({"items[0]": "one", "items[1]": "two"})
    serializer = Ticked(data=form)
    assert set(serializer.fields) == {"agreed", "level", "items"}
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"agreed": False, "level": 3, "items": ["one", "two"]}
    assert set(Ticked(data={"name": "x"}).fields) == {"name", "level"}


def test_a_multipart_upload_is_seen():
    form = QueryDict(mutable=True)
    form.update({"type": "access", "email": "a@example.com", "filed_as": "agent"})
    form["agent_permission"] = io.BytesIO(b"x")
    assert "agent_permission" in CreateSerializer(data=form).fields


def test_input_that_is_no_mapping_is_refused_as_before():
    sparse, full = CreateSerializer(data=[1, 2]), Everything(data=[1, 2])
    assert not sparse.is_valid() and not full.is_valid()
    assert sparse.errors == full.errors
