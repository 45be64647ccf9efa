"""Flow emails: reading what each declared email sends (`read`) and changing it (`repoint`)."""
