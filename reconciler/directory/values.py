"""Attribute values as the reader needs them: text, Active Directory's GUIDs and its account flags.

The reader asks for values as the server sends them (bytes), so that what a
person's id is does not depend on a schema read from the server: an id
attribute that holds a GUID (AD's `objectGUID`, and `mS-DS-ConsistencyGuid`
that Entra Connect copies it to) is 16 bytes, shown as AD shows it; any
other is UTF-8 text (`entryUUID`, `employeeNumber`...).
"""

from __future__ import annotations

import uuid

#: Attributes whose values are GUIDs as 16 bytes, in the byte order of Microsoft's GUID structure.
GUID_ATTRIBUTES = frozenset({"objectguid", "ms-ds-consistencyguid"})

#: userAccountControl's ACCOUNTDISABLE flag (Microsoft's [MS-ADTS] 2.2.16).
ACCOUNTDISABLE = 0x2


def text(value: bytes) -> str:
    """A value as text; ValueError when it is not UTF-8."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"a value of {len(value)} bytes that is not UTF-8 text") from None


def guid(value: bytes) -> str:
    """A GUID's 16 bytes as Active Directory shows the GUID: lower case, without the braces.

    The first three fields are little-endian (the bytes of
    {01234567-89ab-cdef-0123-456789abcdef} are 67 45 23 01 ab 89 ef cd 01 23 ...).
    """
    if len(value) != 16:
        raise ValueError(f"a GUID is 16 bytes, this value is {len(value)}")
    return str(uuid.UUID(bytes_le=value))


def directory_id(attribute: str, value: bytes) -> str:
    """The value of the id attribute `attribute` as a person's id."""
    return guid(value) if attribute.lower() in GUID_ATTRIBUTES else text(value).strip()


def account_disabled(user_account_control: bytes) -> bool:
    """Whether an Active Directory account's userAccountControl has its ACCOUNTDISABLE flag set."""
    flags = text(user_account_control).strip()
    try:
        return bool(int(flags) & ACCOUNTDISABLE)
    except ValueError:
        raise ValueError(f"userAccountControl is {flags!r}, not a number") from None
