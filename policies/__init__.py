"""robocell policies: the Policy interface, teachers, the student, distillation, evaluation."""
