"""Model fields shared by the telephony models."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from encrypted_fields import fields as encrypted

from telephony.validators import validate_email_address


class EncryptedCharField(encrypted.EncryptedCharField):
    """A CharField stored encrypted (django-fernet-encrypted-fields), whose validation leaves the
    field as it found it.

    The library's `clean` sets a "value already decrypted" flag on the field — one object shared
    by every row, thread and request — and clears it only when validation passes. One refused value
    (a three-digit PIN) then left the flag set for the life of the process: every later read
    returned the ciphertext, which was pushed to the PBX and encrypted a second time on save. Here
    validation takes the value as given and never touches the flag."""

    def clean(self, value: Any, model_instance: models.Model | None) -> Any:
        value = models.CharField.to_python(self, value)
        self.validate(value, model_instance)
        self.run_validators(value)
        return value


class InternationalEmailFormField(forms.EmailField):
    """A form's e-mail field that takes internationalized addresses (RFC 6531), as the model does."""

    default_validators = [validate_email_address]


class InternationalEmailField(models.EmailField):
    """An e-mail address whose local part may hold letters of any script (`ünsal@example.de`) and
    whose domain may be an IDN (`ann@bücher.example`): `telephony.validators.validate_email_address`,
    in the model, its forms and the CSV import alike."""

    default_validators = [validate_email_address]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": InternationalEmailFormField, **kwargs})
