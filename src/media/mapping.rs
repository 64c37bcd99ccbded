//! The mapping rules, shared by both databases: every id must exist, none may belong to another
//! owner (by an earlier mapping, or by the owner hint of the token that uploaded it), and each
//! file gets freshly generated metadata.

use uuid::Uuid;

use super::Metadata;

/// One file of a mapping request.
#[derive(Debug, Clone)]
pub struct MapItem {
    pub id: Uuid,
    pub tags: Vec<String>,
    /// The ThumbHash of the upright image, base64, when it could be made.
    pub placeholder: Option<String>,
}

/// What the rules need to know of a stored file.
#[derive(Debug, Clone, Copy)]
pub struct Mappable<'a> {
    pub id: Uuid,
    pub owner: Option<&'a str>,
    /// The upload token's owner hint: the only owner the file may be mapped to.
    pub owner_hint: Option<&'a str>,
    pub width: i64,
    pub height: i64,
    pub size: i64,
    pub content_type: &'a str,
}

/// Why a mapping changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapRefusal {
    #[error("unknown ids: {0:?}")]
    NotFound(Vec<Uuid>),
    #[error("ids mapped to, or uploaded for, another owner: {0:?}")]
    Conflict(Vec<Uuid>),
}

/// `found[i]` is the current state of `items[i]`'s file, read inside the transaction that will
/// apply the result. Returns each item's new metadata, in order.
pub fn plan_mapping(
    owner: &str,
    items: &[MapItem],
    found: &[Option<Mappable<'_>>],
) -> Result<Vec<Metadata>, MapRefusal> {
    let missing: Vec<Uuid> = items
        .iter()
        .zip(found)
        .filter(|(_, file)| file.is_none())
        .map(|(item, _)| item.id)
        .collect();
    if !missing.is_empty() {
        return Err(MapRefusal::NotFound(missing));
    }
    let files = found.iter().flatten();
    let taken: Vec<Uuid> = files
        .clone()
        .filter(|file| {
            let other = |o: &str| o != owner;
            file.owner.is_some_and(other) || file.owner_hint.is_some_and(other)
        })
        .map(|file| file.id)
        .collect();
    if !taken.is_empty() {
        return Err(MapRefusal::Conflict(taken));
    }
    Ok(files
        .zip(items)
        .map(|(file, item)| {
            Metadata::generate(
                file.width,
                file.height,
                file.size,
                file.content_type,
                item.tags.clone(),
                item.placeholder.clone(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: Uuid, owner: Option<&str>) -> Option<Mappable<'_>> {
        Some(Mappable {
            id,
            owner,
            owner_hint: None,
            width: 4,
            height: 3,
            size: 100,
            content_type: "image/png",
        })
    }

    fn item(id: Uuid) -> MapItem {
        MapItem {
            placeholder: None,
            id,
            tags: vec!["cake".into()],
        }
    }

    #[test]
    fn unknown_ids_are_named_before_conflicts() {
        let (known, unknown) = (Uuid::new_v4(), Uuid::new_v4());
        let refused = plan_mapping(
            "u",
            &[item(known), item(unknown)],
            &[file(known, Some("other")), None],
        );
        assert_eq!(refused, Err(MapRefusal::NotFound(vec![unknown])));
    }

    #[test]
    fn a_file_of_another_owner_is_a_conflict_and_the_same_owner_is_not() {
        let (mine, theirs) = (Uuid::new_v4(), Uuid::new_v4());
        let items = [item(mine), item(theirs)];
        let refused = plan_mapping(
            "u",
            &items,
            &[file(mine, Some("u")), file(theirs, Some("v"))],
        );
        assert_eq!(refused, Err(MapRefusal::Conflict(vec![theirs])));
        let planned = plan_mapping("u", &items[..1], &[file(mine, Some("u"))]).unwrap();
        assert_eq!(planned[0].format, "png");
        assert_eq!(planned[0].tags, ["cake"]);
    }

    #[test]
    fn a_file_uploaded_for_another_owner_is_a_conflict() {
        let id = Uuid::new_v4();
        let hinted = |hint| {
            Some(Mappable {
                owner_hint: Some(hint),
                ..file(id, None).unwrap()
            })
        };
        let refused = plan_mapping("u", &[item(id)], &[hinted("v")]);
        assert_eq!(refused, Err(MapRefusal::Conflict(vec![id])));
        assert!(plan_mapping("u", &[item(id)], &[hinted("u")]).is_ok());
    }
}
