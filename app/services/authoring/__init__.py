"""Programs, courses, lessons and their media: what instructors build."""
