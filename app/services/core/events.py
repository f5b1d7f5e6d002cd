"""Events one service package tells the others through the outbox: a kind and a typed
payload each. The package that owns the change enqueues the event in its own transaction;
a package above it registers the handler (`outbox.handler(kind)`), so a lower package
never calls up into a higher one."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

# Someone joined an org (an accepted invite), changed role, or was reactivated.
MEMBER_JOINED = "people.member_joined"
# The kind the same event had while compliance enqueued it itself; jobs queued under it
# before an upgrade are still handled.
MEMBER_JOINED_BEFORE = "compliance.member_joined"


class MemberJoined(BaseModel):
    """The payload of MEMBER_JOINED (the org is the job's)."""

    user_id: uuid.UUID
    role: str
    since: datetime
