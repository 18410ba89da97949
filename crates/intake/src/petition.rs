//! Petition (信访) export files: filled in by the petition-import work.
