"""Files: public images stored by random key (API.md, "Files and operations")."""
