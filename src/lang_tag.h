/* Language-tagged member names of RFC 7591 section 2.2 ("client_name#ja-Jpan-JP"). */
#ifndef DCR_LANG_TAG_H
#define DCR_LANG_TAG_H

#include <stdbool.h>
#include <stddef.h>

#define DCR_LANG_TAG_MAX 64

/* True when tag has the shape of a BCP 47 tag: a primary subtag of 2-8 letters (or the
 * single-letter "x"/"i" of private-use and grandfathered tags), then "-" subtags of 1-8
 * letters or digits. Only the shape is checked, not the IANA registry. */
bool dcr_lang_tag_valid(const char *tag);

/* Splits name at its first '#': copies the base into base (size basesz) and returns a pointer
 * to the tag inside name, or NULL when name has no '#'. A base longer than basesz - 1 yields
 * an empty base. */
const char *dcr_lang_tag_split(const char *name, char *base, size_t basesz);

/* Case-insensitive (ASCII) comparison of two tags, as RFC 7591 asks receivers to match. */
bool dcr_lang_tag_equal(const char *a, const char *b);

#endif
