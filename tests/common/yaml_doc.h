/*
 * tests/common/yaml_doc.h: reading a loaded libyaml document, for the
 * suite runners (tests/conformance/{spf,arc}, tests/unit/{dmarc,authres}).
 * Every helper takes NULL or a node of another type and answers "none"
 * (NULL, 0), so that a chain of look-ups needs one check at its end.
 */
#ifndef MAILSEC_TESTS_YAML_DOC_H
#define MAILSEC_TESTS_YAML_DOC_H

#include <stddef.h>
#include <yaml.h>

/* The value of KEY in the mapping MAP, or NULL. */
yaml_node_t	*map_get(yaml_document_t *doc, yaml_node_t *map,
		    const char *key);
/* The scalar value of KEY in MAP (NUL-terminated), or NULL. */
const char	*map_str(yaml_document_t *doc, yaml_node_t *map,
		    const char *key);
/* The value of a scalar node (NUL-terminated), or NULL. */
const char	*scalar(yaml_node_t *n);
/* The length of a scalar node's value, or 0. */
size_t		 scalar_len(yaml_node_t *n);
/* The number of items of a sequence node, or 0. */
size_t		 seq_len(yaml_node_t *seq);
/* Item I of a sequence node, or NULL (I out of range, not a sequence). */
yaml_node_t	*seq_at(yaml_document_t *doc, yaml_node_t *seq, size_t i);

#endif
