//! Has the agent's part ended? Genesys takes a wrap-up during the agent's after-call work, so
//! the question is about the agent's part, not the whole conversation.

use super::participant::{communications, has_time, is_live, purpose_is, same_id};
use super::target::Target;
use crate::genesys::models::{Communication, Conversation, Participant};

/// Ended ⇔ the conversation's `endTime` is set: always enough, though often later than the
/// agent's part (see [`unended_leg`]).
pub fn is_ended(conversation: &Conversation) -> bool {
    has_time(conversation.end_time.as_deref())
}

/// The participant's first live communication, unless the participant itself has ended.
fn live_leg(p: &Participant) -> Option<(&'static str, &Communication)> {
    if has_time(p.end_time.as_deref()) {
        return None;
    }
    communications(p)
        .into_iter()
        .find(|(_, _, c)| is_live(c))
        .map(|(_, array, c)| (array, c))
}

/// Whose leg is still live, if the agent's part has not ended: the target's own, or (when no
/// participant was named) any agent's, user's or acd's, so a transfer A → B never gives A the
/// code meant for B. A customer still in a survey flow does not count. `None`: ended.
pub fn unended_leg(conversation: &Conversation, target: &Target, named: bool) -> Option<String> {
    if is_ended(conversation) {
        return None;
    }
    let leg = |p: &Participant| {
        live_leg(p).map(|(array, c)| {
            format!(
                "{} participant {}{} still has a live communication {} in {array} (state {})",
                p.purpose.as_deref().unwrap_or("a"),
                p.id,
                p.user_id
                    .as_deref()
                    .map(|u| format!(" (user {u})"))
                    .unwrap_or_default(),
                c.id,
                c.state.as_deref().unwrap_or("unknown"),
            )
        })
    };
    let own = conversation
        .participants
        .iter()
        .find(|p| same_id(&p.id, target.participant_id))
        .and_then(leg);
    let others = || {
        conversation
            .participants
            .iter()
            .filter(|p| purpose_is(p, &["agent", "user", "acd"]))
            .find_map(leg)
    };
    own.or_else(|| if named { None } else { others() })
}
