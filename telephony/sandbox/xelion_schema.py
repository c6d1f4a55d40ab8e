"""The attributes, types and errors of the Xelion objects the sandbox knows (seed:
xelion-getting-started.txt; limits from backend-api-facts.md: strings of at most 4000 characters,
oids as strings of digits, error bodies `{"errorCode", "message"}`).

The attribute sets are those of the seed's answers; the sandbox refuses any other attribute
(400/10202), so a misspelt field name in a client shows up at once. An `oid` is the server's: a
new object or sub-object that brings one, or a PATCH that replaces one, is refused (400/10203, "oid
or objectType missing or invalid"); objects are referred to by oid only as `{oid, objectType}` or
as a PATCH value.
"""

from __future__ import annotations

import re
from typing import Any

MAX_STRING = 4000
XCC_ROLES = ("user", "admin")
ADDRESS_TYPES = ("Telephone", "Mobile", "Email")
PHONE_ADDRESS = re.compile(r"^\+?\d{1,20}$")
PERMISSIONS = "ReadWriteRemove"


class XelionError(Exception):
    """Answered as Xelion's error body `{"errorCode", "message", "info"}` with this HTTP status."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> XelionError:
    return XelionError(400, 10202, message)


def not_found(what: str) -> XelionError:
    return XelionError(404, 10100, f"{what} not found")


def check_value(name: str, value: Any, kind: type) -> Any:
    """One attribute value of the expected JSON type; strings at most 4000 characters."""
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise invalid(f"{name} must be a number")
    if kind is not int and not isinstance(value, kind):
        raise invalid(f"{name} must be {'true or false' if kind is bool else 'a ' + kind.__name__}")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise invalid(f"{name} is longer than {MAX_STRING} characters")
    return value


def check_oid(value: Any, what: str = "oid") -> str:
    if not isinstance(value, str) or not value.isdigit():
        raise XelionError(400, 10203, f"{what} must be a string of digits")
    return value


def check_attributes(body: dict[str, Any], allowed: set[str], object_type: str) -> None:
    if "oid" in body:  # the server gives each new object its oid ("The oid must be used in the next call")
        raise XelionError(400, 10203, f"a new {object_type} gets its oid from the server: do not send one")
    unknown = sorted(set(body) - allowed - {"objectType", "changeType", "commonName"})
    if unknown:
        raise invalid(f"{object_type} has no attribute(s) {', '.join(unknown)}")
    for key, value in body.items():
        if isinstance(value, str):
            check_value(key, value, str)


PHONELINE_FLAGS: dict[str, Any] = {
    "allowedNumbers": [],
    "phones": [],
    "lineHuntingTimeout": 0,
    "ringLastTalkedToFirst": False,
    "autoAttendantOn": False,
    "hideInPhoneList": False,
    "showWaitingQueue": False,
    "processQueueInOrder": False,
    "maxQueueLength": 0,
    "callQueueWrapupTime": 0,
    "saveCallRecording": False,
    "doNotRecordInternalCalls": False,
    "managers": [],
    "limitAccessToCallRecording": False,
    "callRecordingUsers": [],
    "enableVoicemailToEmail": False,
    "voicemailDeliveryNumber": "",
    "enableVoicemailDelivery": False,
    "voicemailDeliveryTimeout": 0,
    "unlimitedChannelCount": False,
    "announcementEnabled": False,
    "callerAnnouncementEnabled": False,
    "hideNumbers": False,
    "isChatable": False,
    "enableVoicemailSms": False,
    "isConferenceRoom": False,
    "conferenceRoomCallerId": "",
    "conferenceRoomListenOnly": False,
    "manualWrapUp": False,
    "connectFirstAvailable": False,
    "onlyExternalCalls": False,
    "agentShowInbound": False,
    "agentShowOutbound": False,
    "agentShowTotal": False,
    "agentShowChatStats": False,
}
PHONELINE_SCALARS: dict[str, type] = {
    "commonName": str,
    "externalNumber": str,
    "callerName": str,
    **{name: type(value) for name, value in PHONELINE_FLAGS.items() if not isinstance(value, list)},
}
USER_PHONE_LINE_FIELDS: dict[str, Any] = {
    "doNotDisturb": False,
    "anonymous": False,
    "redirectionActive": False,
    "redirection": "",
    "redirectionTimeout": 0,
    "fallbackActive": False,
    "voicemailActive": False,
}
USER_SCALARS: dict[str, type] = {
    "commonName": str,
    "userName": str,
    "active": bool,
    "xccRole": str,
    "userLicense": bool,
    "cloudProvisioningEnabled": bool,
    "password": str,
}
PERSON_SCALARS: dict[str, type] = {
    "commonName": str,
    "givenName": str,
    "familyName": str,
    "initials": str,
    "communicationLanguage": str,
}
TRUNK_SCALARS: dict[str, type] = {
    "providerName": str,
    "host": str,
    "port": str,
    "account": str,
    "authenticationAccount": str,
    "password": str,
    "outboundProxy": str,
    "outboundPort": str,
    "dontRegisterWithServer": bool,
    "serverNet": str,
    "gateway": str,
    "acceptUnknownNumbers": bool,
    "allowPeerToPeer": bool,
    "useAsFallback": bool,
    "supportsSenderId": bool,
    "supportsRedirect": bool,
    "supportsAnonymous": bool,
    "alwaysAnonymous": bool,
    "anonymousCallerName": str,
    "anonymousCallerId": str,
    "useAssertedIdentity": bool,
    "usePreferredIdentity": bool,
    "useDefaultCallerNrAsIdentity": bool,
    "useDiversionHeader": bool,
    "keepAlive": bool,
    "registrationTimeOut": int,
    "defaultNormalization": str,
    "customSIPOptions": str,
    "commonName": str,
}
TRUNK_LISTS = ("dialPrefixes", "numberMapping")
USERGROUP_SCALARS: dict[str, type] = {"commonName": str, "description": str}


def split_name(whole: str) -> tuple[str, str]:
    given, _, family = whole.strip().partition(" ")
    return (given, family.strip()) if family.strip() else ("", given)
