"""Taking courses: the catalog, enrollments, progress, quizzes, cohorts and the class view."""
