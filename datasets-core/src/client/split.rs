//! Reading a JSON answer as it arrives: the elements of one array in it
//! (the top-level list of a case listing, or the `cases` of an export) are
//! cut out as each one completes and decoded at once, so a large answer is
//! never held whole, neither as bytes nor as values. Everything else of the
//! document (an export's name and evaluators) is kept, with the array
//! emptied, to be parsed at the end.

/// Which array's elements to cut out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The document is the array.
    Root,
    /// The array is the value of this key of the top-level object.
    Member(&'static str),
}

/// Cuts the target array's elements out of a JSON document fed in pieces.
#[derive(Debug)]
pub(crate) struct ArraySplitter {
    target: Target,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Inside the target array, between or within its elements.
    in_target: bool,
    /// The element being read, if one has started.
    element: Option<Vec<u8>>,
    /// Whether the element being read is a string, number or literal.
    scalar: bool,
    /// Top-level object keys: whether the next string is a key, the key
    /// being read, and the key of the value being read.
    expecting_key: bool,
    key: Option<Vec<u8>>,
    value_key: Vec<u8>,
    /// The document without the target array's elements.
    skeleton: Vec<u8>,
}

impl ArraySplitter {
    pub(crate) fn new(target: Target) -> Self {
        Self {
            target,
            depth: 0,
            in_string: false,
            escaped: false,
            in_target: false,
            element: None,
            scalar: false,
            expecting_key: false,
            key: None,
            value_key: Vec::new(),
            skeleton: Vec::new(),
        }
    }

    /// The document without the target's elements (`[]` in their place).
    pub(crate) fn skeleton(&self) -> &[u8] {
        &self.skeleton
    }

    /// Feeds the next bytes; `element` receives each completed element.
    /// Bytes that are not JSON are passed on unexamined: the final parse of
    /// the skeleton or of an element reports them.
    pub(crate) fn feed<E>(
        &mut self,
        bytes: &[u8],
        mut element: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        for &b in bytes {
            if self.in_target {
                self.target_byte(b, &mut element)?;
            } else {
                self.outside_byte(b);
            }
        }
        Ok(())
    }

    fn string_byte(&mut self, b: u8) -> bool {
        if self.escaped {
            self.escaped = false;
        } else if b == b'\\' {
            self.escaped = true;
        } else if b == b'"' {
            self.in_string = false;
            return true;
        }
        false
    }

    fn outside_byte(&mut self, b: u8) {
        self.skeleton.push(b);
        if self.in_string {
            let closed = self.string_byte(b);
            if let Some(key) = &mut self.key {
                if closed {
                    self.value_key = std::mem::take(key);
                    self.key = None;
                } else {
                    key.push(b);
                }
            }
            return;
        }
        match b {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && self.expecting_key {
                    self.key = Some(Vec::new());
                }
            }
            b'{' => {
                self.depth += 1;
                self.expecting_key = self.depth == 1;
            }
            b'[' => {
                self.depth += 1;
                let starts_target = match self.target {
                    Target::Root => self.depth == 1,
                    Target::Member(name) => self.depth == 2 && self.value_key == name.as_bytes(),
                };
                if starts_target {
                    self.in_target = true;
                }
            }
            b'}' | b']' => self.depth = self.depth.saturating_sub(1),
            b':' if self.depth == 1 => self.expecting_key = false,
            b',' if self.depth == 1 => self.expecting_key = true,
            _ => {}
        }
    }

    fn target_byte<E>(
        &mut self,
        b: u8,
        element: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let array_depth = match self.target {
            Target::Root => 1,
            Target::Member(_) => 2,
        };
        let Some(current) = &mut self.element else {
            // Between elements.
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => {}
                b']' => {
                    self.depth -= 1;
                    self.in_target = false;
                    self.skeleton.push(b']');
                }
                _ => {
                    self.element = Some(vec![b]);
                    self.scalar = !matches!(b, b'{' | b'[');
                    if b == b'"' {
                        self.in_string = true;
                    } else if !self.scalar {
                        self.depth += 1;
                    }
                }
            }
            return Ok(());
        };
        if self.in_string {
            current.push(b);
            let closed = self.string_byte(b);
            if closed && self.scalar && self.depth == array_depth {
                let done = self.element.take().unwrap_or_default();
                element(&done)?;
            }
            return Ok(());
        }
        match b {
            b'"' => {
                current.push(b);
                self.in_string = true;
            }
            b'{' | b'[' => {
                current.push(b);
                self.depth += 1;
            }
            b'}' | b']' if self.depth > array_depth => {
                current.push(b);
                self.depth -= 1;
                if self.depth == array_depth {
                    let done = self.element.take().unwrap_or_default();
                    element(&done)?;
                }
            }
            // A number or literal ends at the separator or the array's end.
            b',' | b']' if self.scalar => {
                let done = self.element.take().unwrap_or_default();
                element(&done)?;
                if b == b']' {
                    self.depth -= 1;
                    self.in_target = false;
                    self.skeleton.push(b']');
                }
            }
            _ => current.push(b),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Feeds `text` in pieces of `step` bytes; returns elements and skeleton.
    fn split(text: &str, target: Target, step: usize) -> (Vec<Value>, Value) {
        let mut splitter = ArraySplitter::new(target);
        let mut elements = Vec::new();
        for piece in text.as_bytes().chunks(step) {
            splitter
                .feed(piece, |bytes| {
                    elements.push(serde_json::from_slice(bytes).unwrap());
                    Ok::<_, ()>(())
                })
                .unwrap();
        }
        (
            elements,
            serde_json::from_slice(splitter.skeleton()).unwrap(),
        )
    }

    #[test]
    fn cuts_out_the_cases_of_an_export_in_any_pieces() {
        let doc = json!({
            "name": "qa [cases]",
            "cases": [
                {"name": "a", "inputs": {"q": "}{][\"\\"}, "evaluators": []},
                {"name": null, "inputs": [1, [2, {"cases": [3]}]], "evaluators": []}
            ],
            "evaluators": [{"name": "EqualsExpected", "arguments": null}],
            "report_evaluators": []
        });
        let text = serde_json::to_string_pretty(&doc).unwrap();
        for step in [1, 2, 3, 7, 64, 100_000] {
            let (elements, skeleton) = split(&text, Target::Member("cases"), step);
            assert_eq!(
                elements,
                doc["cases"].as_array().unwrap().clone(),
                "step {step}"
            );
            let mut expected = doc.clone();
            expected["cases"] = json!([]);
            assert_eq!(skeleton, expected, "step {step}");
        }
    }

    #[test]
    fn cuts_out_the_elements_of_a_top_level_list_scalars_included() {
        let doc = json!([{"id": 1}, "two", 3, null, [4], {"x": "]"}, 5.5e3]);
        for step in [1, 5, 1000] {
            let (elements, skeleton) = split(&doc.to_string(), Target::Root, step);
            assert_eq!(Value::Array(elements), doc);
            assert_eq!(skeleton, json!([]));
        }
        let (elements, _) = split("[]", Target::Root, 1);
        assert!(elements.is_empty());
    }
}
