"""Programs, courses, lessons and their media: what instructors build.

Every authoring function is for people holding `courses.author` in their active org, and only
while the org has the `lms` feature on. Each one follows access / check / do:

- access (`course_access`): the course through `editable_course` (a course of the active org,
  any state); its lessons through `course_read.access_lesson`, its modules and questions
  through `access_module` / `access_question`, which also insist they belong to *that*
  course. An id of another org, of another course of the same org, or that does not exist
  raises the same `NotFound`.
- check (`course_input`): input through `CourseInput` (pydantic) and the small `check_*`
  helpers, raising `ValidationFailed(message, field=...)` with a message to show beside the
  field.
- do: change the rows, record an audit row for changes admins care about (courses created,
  edited, published, archived, returned to draft; modules and lessons deleted), commit, and
  after the commit tell open catalog pages (`topics.CATALOG`) when what learners can
  find changed.

Where things are: `courses` (create and edit a course), `course_status` (publish, archive,
back to draft), `course_programs`, `course_outline` (modules), `course_lessons`, `questions`,
`course_views` (the authoring list and the editor's data), `media` (files, video, covers),
`course_read` (finding courses as each kind of reader may see them).

Mutating functions return the changed row (the session does not expire rows on commit, so
callers such as the demo seed can read ids afterwards); reads for the UI return plain
dataclasses.
"""
