"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from app.models.audit import AuditEvent
from app.models.certificate import Certificate
from app.models.chat import ChannelKind, ChatChannel, ChatMember, ChatMessage
from app.models.course import (
    Course,
    CourseModule,
    CourseStatus,
    Lesson,
    LessonKind,
    Program,
    QuestionKind,
    QuizQuestion,
)
from app.models.enrollment import (
    Cohort,
    Enrollment,
    EnrollmentStatus,
    LessonProgress,
    MandatoryRule,
    ProgressStatus,
    QuizAttempt,
)
from app.models.invite import Invite
from app.models.mail import OutboundEmail
from app.models.member_import import MemberImport
from app.models.notification import Announcement, Notification, NotificationPreference
from app.models.org import Organization, OrgKind, OrgSettings
from app.models.outbox import OutboxJob
from app.models.user import (
    AuthSession,
    LoginTicket,
    Membership,
    PasswordReset,
    Role,
    SignupRequest,
    User,
)

# Tables whose rows belong to one org: scoped by the services and by row-level security.
TENANT_TABLES: tuple[str, ...] = (
    "organizations",
    "org_settings",
    "memberships",
    "invites",
    "audit_events",
    "outbound_emails",
    "member_imports",
    "outbox_jobs",
    "programs",
    "courses",
    "course_modules",
    "lessons",
    "quiz_questions",
    "cohorts",
    "enrollments",
    "lesson_progress",
    "quiz_attempts",
    "mandatory_rules",
    "certificates",
    "notifications",
    "notification_preferences",
    "announcements",
    "chat_channels",
    "chat_members",
    "chat_messages",
)

__all__ = [
    "TENANT_TABLES",
    "Announcement",
    "AuditEvent",
    "AuthSession",
    "Certificate",
    "ChannelKind",
    "ChatChannel",
    "ChatMember",
    "ChatMessage",
    "Cohort",
    "Course",
    "CourseModule",
    "CourseStatus",
    "Enrollment",
    "EnrollmentStatus",
    "Invite",
    "Lesson",
    "LessonKind",
    "LessonProgress",
    "LoginTicket",
    "MandatoryRule",
    "MemberImport",
    "Membership",
    "Notification",
    "NotificationPreference",
    "OrgKind",
    "OrgSettings",
    "Organization",
    "OutboundEmail",
    "OutboxJob",
    "PasswordReset",
    "Program",
    "ProgressStatus",
    "QuestionKind",
    "QuizAttempt",
    "QuizQuestion",
    "Role",
    "SignupRequest",
    "User",
]
